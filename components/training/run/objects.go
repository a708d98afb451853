package run

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
)

// NewJob returns an empty job of kind (PyTorchJob, ...), or nil.
func NewJob(kind string) client.Object {
	switch kind {
	case trainingv1.PyTorchJobKind:
		return &trainingv1.PyTorchJob{}
	case trainingv1.TFJobKind:
		return &trainingv1.TFJob{}
	case trainingv1.XGBoostJobKind:
		return &trainingv1.XGBoostJob{}
	case trainingv1.MPIJobKind:
		return &trainingv1.MPIJob{}
	case trainingv1.JAXJobKind:
		return &trainingv1.JAXJob{}
	case trainingv1.PaddleJobKind:
		return &trainingv1.PaddleJob{}
	}
	return nil
}

// NewJobList returns an empty list of jobs of kind, or nil.
func NewJobList(kind string) client.ObjectList {
	switch kind {
	case trainingv1.PyTorchJobKind:
		return &trainingv1.PyTorchJobList{}
	case trainingv1.TFJobKind:
		return &trainingv1.TFJobList{}
	case trainingv1.XGBoostJobKind:
		return &trainingv1.XGBoostJobList{}
	case trainingv1.MPIJobKind:
		return &trainingv1.MPIJobList{}
	case trainingv1.JAXJobKind:
		return &trainingv1.JAXJobList{}
	case trainingv1.PaddleJobKind:
		return &trainingv1.PaddleJobList{}
	}
	return nil
}

// ListItems returns the jobs of a list NewJobList made.
func ListItems(l client.ObjectList) []client.Object {
	var out []client.Object
	switch l := l.(type) {
	case *trainingv1.PyTorchJobList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *trainingv1.TFJobList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *trainingv1.XGBoostJobList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *trainingv1.MPIJobList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *trainingv1.JAXJobList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *trainingv1.PaddleJobList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	}
	return out
}

// KindName is the kind of a job object (PyTorchJob, ...), "" for other objects.
func KindName(obj client.Object) string {
	switch obj.(type) {
	case *trainingv1.PyTorchJob:
		return trainingv1.PyTorchJobKind
	case *trainingv1.TFJob:
		return trainingv1.TFJobKind
	case *trainingv1.XGBoostJob:
		return trainingv1.XGBoostJobKind
	case *trainingv1.MPIJob:
		return trainingv1.MPIJobKind
	case *trainingv1.JAXJob:
		return trainingv1.JAXJobKind
	case *trainingv1.PaddleJob:
		return trainingv1.PaddleJobKind
	}
	return ""
}

// StatusOf returns a job's status, nil for other objects.
func StatusOf(obj client.Object) *trainingv1.JobStatus {
	switch j := obj.(type) {
	case *trainingv1.PyTorchJob:
		return &j.Status
	case *trainingv1.TFJob:
		return &j.Status
	case *trainingv1.XGBoostJob:
		return &j.Status
	case *trainingv1.MPIJob:
		return &j.Status
	case *trainingv1.JAXJob:
		return &j.Status
	case *trainingv1.PaddleJob:
		return &j.Status
	}
	return nil
}

// State is a job's current state: the type of its last condition whose status is True
// (Created, Running, Succeeded, Failed, ...), and that condition's reason and message.
func State(st *trainingv1.JobStatus) (trainingv1.JobConditionType, string, string) {
	for i := len(st.Conditions) - 1; i >= 0; i-- {
		if c := st.Conditions[i]; c.Status == "True" {
			return c.Type, c.Reason, c.Message
		}
	}
	return "", "", ""
}

// Finished says whether a job state is final.
func Finished(t trainingv1.JobConditionType) bool {
	return t == trainingv1.JobSucceeded || t == trainingv1.JobFailed
}
