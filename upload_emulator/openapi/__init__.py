"""The vendors' OpenAPI documents: routes, request and response validation, compiled schemas."""
