"""Testing toolkit for applications that use kms-mrk."""
