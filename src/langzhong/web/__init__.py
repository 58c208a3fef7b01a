"""Web stage: server-rendered pages and the JSON API over the same Answer types as the CLI."""
