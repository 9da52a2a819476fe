"""Knowledge and flow files: read YAML safely, validate into immutable typed objects (problems
as file:line), check, and edit for the console.

Imports nothing of loketbot but errors and config.
"""
