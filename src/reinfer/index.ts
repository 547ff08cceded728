// Public surface of the reinfer pieces. STUB: being written.
export {};
