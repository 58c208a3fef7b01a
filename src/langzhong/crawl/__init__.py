"""Crawl stage: fetch a site politely, keep what was fetched, hand pages to ``ingest``'s parsers."""
