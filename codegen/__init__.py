"""Code generator for kms-mrk: reads the vendored KMS model, writes the GENERATED modules."""
