"""The defaults of dedupe, one place for the API and the command line (nothing heavy imported)."""

__all__ = ["DEFAULT_RADIUS", "DEFAULT_THRESHOLD", "INDEX_NAME", "KEEP_POLICIES", "MAX_RADIUS"]

#: Hamming radius of the hash search, in bits: what a million images can afford (see the
#: README's benchmark).
DEFAULT_RADIUS = 5
#: Largest radius accepted: beyond it nearly every pair of photos is a candidate.
MAX_RADIUS = 16
#: Least thumbnail similarity of a pair that is the same picture (see the README's benchmark).
DEFAULT_THRESHOLD = 0.75
#: How the file to keep is chosen in each group.
KEEP_POLICIES = ("largest", "oldest", "sharpest")
#: File name of the index inside a collection's folder (hidden, so walks leave it alone).
INDEX_NAME = ".imgdelta-index.sqlite"
