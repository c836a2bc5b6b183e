"""Imported once by the classifier's forkserver (`ServiceApp.workers(preload=...)`): it imports
the workers' tasks and builds the classifier there, so every worker forked from it, the first
and each replacement after a hostile mail, starts with the tasks' modules imported and the rules
compiled and the model loaded (more than a second of CPU per worker otherwise, its tasks'
imports, FastStream's among them, most of it).
"""

from services.classifier.received import default_classifier
from services.classifier.worktasks import classify_task

__all__ = ["classify_task"]

default_classifier()
