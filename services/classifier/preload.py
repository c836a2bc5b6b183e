"""Imported once by the classifier's forkserver (`ServiceApp.workers(preload=...)`): it builds
the classifier there, so every worker forked from it, the first and each replacement after a
hostile mail, starts with the classifier's modules imported and its rules compiled and model
loaded (about 0.7 s of CPU each otherwise, more than a hundred mails' classification overhead).
"""

from services.classifier.received import default_classifier

default_classifier()
