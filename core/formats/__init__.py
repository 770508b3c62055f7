"""Wire and text formats of Tracee that several commands share: gob streams and Go templates."""
