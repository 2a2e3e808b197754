"""Views: thin pages and JSON endpoints. Parse, call one service or selector, render."""
