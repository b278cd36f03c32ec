// Placeholder: the compute worker lands with issue 5.
export {};
