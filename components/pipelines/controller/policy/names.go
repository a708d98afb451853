package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// PodName is <run>-<task>-<hash>, at most 63 characters: the run's name (at most 50 by
// the schema), what fits of the task's name, and a hash of the task ID and attempt.
func PodName(run, task, id string, attempt int) string {
	h := Hash(id+"#"+strconv.Itoa(attempt), 8)
	room := 63 - len(run) - len(h) - 2
	t := LabelValue(task)
	if len(t) > room {
		t = strings.TrimRight(t[:max(room, 0)], "-._")
	}
	if t == "" {
		return run + "-" + h
	}
	return strings.ToLower(run + "-" + strings.NewReplacer("_", "-", ".", "-").Replace(t) + "-" + h)
}

// Hash is the first n hex digits of the SHA-256 of s.
func Hash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// LabelValue cuts s to a valid label value.
func LabelValue(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < 63; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b = append(b, c)
		} else {
			b = append(b, '-')
		}
	}
	return strings.Trim(string(b), "-_.")
}
