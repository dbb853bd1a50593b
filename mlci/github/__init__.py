"""GitHub: the REST client for PR comments, the Actions environment files and annotations."""
