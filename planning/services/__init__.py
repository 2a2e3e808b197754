"""Services: every function that writes. Import from the submodules."""
