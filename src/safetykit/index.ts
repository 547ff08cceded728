// Public surface of the safetykit pieces. STUB: being written.
export {};
