// Public surface of the innerworks pieces. STUB: being written.
export {};
