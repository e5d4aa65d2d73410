"""The embedded synthetic demo corpus (dataset ``demo``): espeak-ng speech whose emotion is
carried by the voice, by the words, or by both. See CARD.md beside this file."""
