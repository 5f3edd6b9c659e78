"""The contract document: template, data and PDF rendering."""
