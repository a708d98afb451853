package dbmanager

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/engine"
	"github.com/kfup/kfup/internal/apihost"
)

// apiName is the tuning slice's apihost.LabelAPI value (controller.APIName).
const apiName = "tuning"

// A trial's observation log (tuningv1beta1.ObservationLogName: the ConfigMap's name,
// format and ownership) is bounded by engine.PushLog. The trial controller summarizes a
// Push trial's into its status when the run ends and writes the other collectors' parse
// into it (WriteLog); GetObservationLog reads it.

// Keys of the observation log ConfigMap's data.
const (
	pushLogKept   = tuningv1beta1.ObservationLogKept
	pushLogBeyond = tuningv1beta1.ObservationLogBeyond
)

// LogName names the ConfigMap holding trial's observation log.
func LogName(trial string) string { return tuningv1beta1.ObservationLogName(trial) }

// NotOursError is an object of the name kfup would use that the trial does not own.
type NotOursError struct{ error }

// ReadLog returns trial t's pushed observations (none before the first report).
func ReadLog(ctx context.Context, r client.Reader, t *tuningv1beta1.Trial) (*engine.PushLog, *corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{}
	err := r.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: LogName(t.Name)}, cm)
	if apierrors.IsNotFound(err) {
		return &engine.PushLog{}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !metav1.IsControlledBy(cm, t) {
		return nil, nil, NotOursError{fmt.Errorf("ConfigMap %s/%s exists and is not trial %s's: kfup leaves it alone; delete or rename it", cm.Namespace, cm.Name, t.Name)}
	}
	l, err := engine.DecodePushLog(cm.Data[pushLogKept], cm.Data[pushLogBeyond])
	if err != nil {
		return nil, nil, fmt.Errorf("ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	return l, cm, nil
}

// AppendLog adds reports to trial t's observation log, creating it on the first
// report; concurrent reports (several pods of one trial) retry on conflict.
func AppendLog(ctx context.Context, c client.Client, r client.Reader, scheme *runtime.Scheme, t *tuningv1beta1.Trial, reports []engine.Observation) error {
	return updateLog(ctx, c, r, scheme, t, func(l *engine.PushLog) *engine.PushLog {
		l.Add(reports...)
		return l
	})
}

// WriteLog makes trial t's observation log what the StdOut, File and TfEvent collectors
// parsed from its run's logs, obs, so that GetObservationLog and the dashboard's charts
// see every report of those trials too, as Katib's collectors write them to its
// database; a log of the same content is not written again.
func WriteLog(ctx context.Context, c client.Client, r client.Reader, scheme *runtime.Scheme, t *tuningv1beta1.Trial, obs []engine.Observation) error {
	return updateLog(ctx, c, r, scheme, t, func(*engine.PushLog) *engine.PushLog {
		l := &engine.PushLog{}
		l.Add(obs...)
		return l
	})
}

// updateLog writes change's log over trial t's, creating the ConfigMap when absent;
// unchanged data is not written, a conflict is retried.
func updateLog(ctx context.Context, c client.Client, r client.Reader, scheme *runtime.Scheme, t *tuningv1beta1.Trial, change func(*engine.PushLog) *engine.PushLog) error {
	return retry.OnError(retry.DefaultRetry, func(err error) bool {
		return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
	}, func() error {
		l, cm, err := ReadLog(ctx, r, t)
		if err != nil {
			return err
		}
		kept, beyond := change(l).Encode()
		if cm != nil {
			if cm.Data[pushLogKept] == kept && cm.Data[pushLogBeyond] == beyond {
				return nil
			}
			cm.Data = map[string]string{pushLogKept: kept, pushLogBeyond: beyond}
			return c.Update(ctx, cm)
		}
		if kept == "" && beyond == "" {
			return nil
		}
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: LogName(t.Name), Namespace: t.Namespace, Labels: map[string]string{
				tuningv1beta1.LabelExperimentName: t.Labels[tuningv1beta1.LabelExperimentName],
				tuningv1beta1.LabelTrialName:      t.Name,
				apihost.LabelAPI:                  apiName,
			}},
			Data: map[string]string{pushLogKept: kept, pushLogBeyond: beyond},
		}
		if err := controllerutil.SetControllerReference(t, cm, scheme); err != nil {
			return err
		}
		return c.Create(ctx, cm)
	})
}

// DeleteLog deletes trial t's observation log, if it has one.
func DeleteLog(ctx context.Context, c client.Client, r client.Reader, t *tuningv1beta1.Trial) error {
	_, cm, err := ReadLog(ctx, r, t)
	if err != nil || cm == nil {
		return err
	}
	err = c.Delete(ctx, cm, client.Preconditions{UID: &cm.UID})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
