// Package connect turns stored connection definitions (jobnet.Connection)
// into the connections of the ecs and eks executors, and tests them.
//
// A test makes one harmless call with exactly the settings an executor
// would use: for an aws connection it builds the SDK configuration (region,
// profile, default credential chain, the role assumed on top) and calls STS
// GetCallerIdentity, reporting the account and ARN; for a kubernetes
// connection it builds the client configuration of the access mode
// (kubeconfig, in-cluster, EKS IAM token, bearer token) and asks the API
// server for its version. Errors name the connection and the step that
// failed; no secret ever appears in a result or an error.
//
// Live is an executor rebuilt from the stored connections whenever they
// change (checked at most every RefreshDefault, on use), so a connection
// edited in the GUI or by apply takes effect without a restart; handles
// name their connection and stay valid across rebuilds.
//
// This package and the executors are the only places that import the AWS
// SDK and client-go.
package connect
