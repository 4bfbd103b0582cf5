"""Dealticker: follow one business deal in German news feeds."""
