package ir

// Validate reports what stops p from running; filled in below.
func Validate(p *Pipeline) Problems { return nil }
