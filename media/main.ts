// Placeholder: the webview lands with issue 4.
export {};
