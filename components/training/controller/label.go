package controller

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfup/kfup/components/training/engine"
	"github.com/kfup/kfup/internal/apihost"
)

// markChild labels obj, about to be created or applied for a job, as a child of the
// training API (apihost.LabelAPI=training): the manager's caches keep only children
// so labelled. The desired-state functions keep upstream's labels exactly; the label is
// added here, where every child is written, and never to selectors.
func markChild(obj metav1.Object) { apihost.MarkChild(obj, engine.APIName) }
