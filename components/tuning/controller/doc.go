// Package controller holds the tuning slice's in-cluster side: the Experiment, Suggestion
// and Trial controllers of Katib's kubeflow.org/v1beta1 API, hosted by kfup's manager.
//
//   - The experiment controller keeps each Experiment's Suggestion asking for as many
//     suggestions as the parallel and total trial counts allow, creates a Trial from each
//     new suggestion (its run rendered from the trial template), sums the trials up into
//     the Experiment's status (counters, lists, current optimal trial) and ends the
//     Experiment as upstream does (goal reached, max trials, max failed trials, the
//     algorithm's end), killing the trials still running.
//   - The suggestion controller runs the search algorithm in-process (package suggest:
//     a pure function of the search space and the trial history) and the median stopping
//     rule, appending to Suggestion.status.suggestions. No suggestion Deployment, no
//     database: the history is the Trials themselves.
//   - The trial controller creates the trial's run (a batch Job, a training job, any
//     kind), judges it by the GJSON success and failure conditions, reads the metrics
//     from the primary container's log through the API (no sidecar for StdOut; for the
//     File and TensorFlowEvent collectors, from the log of the `kfup agent metrics`
//     sidecar it injects) and applies the early stopping rules while it runs.
package controller
