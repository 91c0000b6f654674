"""The conformance cases. Imported lazily, so that the pytest binding can have pytest rewrite their asserts."""
