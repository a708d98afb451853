package dashboard

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Problem is something a view could not show, said on the page as a banner: what failed
// and what to do.
type Problem struct {
	// Kind is "forbidden" (RBAC), "unreachable" (the cluster does not answer) or "error".
	Kind string
	// Text says what failed; Fix what to do about it.
	Text, Fix string
}

// problemOf turns an API error of verb on resource (in namespace ns, of object name) into
// a Problem: a 403 names the verb and resource the user may not use; an error that is not
// the API server's answer means the cluster is unreachable.
func problemOf(err error, verb, resource, ns, name string) Problem {
	what := resource
	if name != "" {
		what += " " + name
	}
	where := ""
	if ns != "" {
		where = " in namespace " + ns
	}
	var status apierrors.APIStatus
	switch {
	case apierrors.IsForbidden(err):
		return Problem{Kind: "forbidden",
			Text: fmt.Sprintf("You may not %s %s%s (RBAC: forbidden).", verb, what, where),
			Fix: fmt.Sprintf("Ask for the right, or check yours: kubectl auth can-i %s %s%s",
				verb, resource, map[bool]string{true: " -n " + ns, false: ""}[ns != ""])}
	case !errors.As(err, &status):
		return Problem{Kind: "unreachable",
			Text: "The cluster does not answer: " + err.Error(),
			Fix:  "Check it with 'kfup status'; 'kfup create' starts a stopped cluster again. This page recovers by itself once the cluster answers."}
	default:
		return Problem{Kind: "error", Text: fmt.Sprintf("%s %s%s: %v", verb, what, where, err)}
	}
}

// isAPIStatus reports whether err is the API server's own answer (as opposed to a
// transport failure).
func isAPIStatus(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status)
}
