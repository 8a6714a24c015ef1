"""Framework integration examples: Flask, Django, Pyramid and Bottle apps wrapped unchanged."""
