"""Lambda functions deployed by the stack; each module is stdlib-only and zipped as-is."""
