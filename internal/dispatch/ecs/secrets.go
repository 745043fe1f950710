package ecs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// derivedFamilyMarker separates a base family from the hash in the family
// of a task definition Koyomi derived from it to add secrets.
const derivedFamilyMarker = "-koyomi-"

// SecretsFamily is the family of the task definition derived from base
// (a pinned task definition ARN) by adding secrets to container: the base
// family, "-koyomi-" and 12 hex digits of a hash of all three, so one base
// revision and one set of secrets always name one family.
func SecretsFamily(baseFamily, baseARN, container string, secrets map[string]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", baseARN, container)
	for _, k := range sortedKeys(secrets) {
		fmt.Fprintf(h, "%s=%s\x00", k, secrets[k])
	}
	sum := hex.EncodeToString(h.Sum(nil))[:12]
	if max := 255 - len(derivedFamilyMarker) - len(sum); len(baseFamily) > max {
		baseFamily = baseFamily[:max]
	}
	return baseFamily + derivedFamilyMarker + sum
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// secretsDefinition returns the task definition to run for a job with
// secrets: base with the secrets added to container (replacing secrets of
// the same name). ECS container overrides cannot carry secrets, so this
// is a task definition of its own, registered once: it is found again by
// its family (SecretsFamily) after a restart, and cached.
func (e *Executor) secretsDefinition(ctx context.Context, c *clients, base *ecstypes.TaskDefinition, container string, secrets map[string]string) (*ecstypes.TaskDefinition, error) {
	baseARN := aws.ToString(base.TaskDefinitionArn)
	family := SecretsFamily(aws.ToString(base.Family), baseARN, container, secrets)
	key := c.conn.Name + "\x00derived\x00" + family
	e.mu.Lock()
	cached, ok := e.defs[key]
	e.mu.Unlock()
	if ok {
		return cached.def, nil
	}
	out, err := c.ecs.DescribeTaskDefinition(ctx, &awsecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(family)})
	var td *ecstypes.TaskDefinition
	switch {
	case err == nil && out.TaskDefinition != nil && out.TaskDefinition.Status != ecstypes.TaskDefinitionStatusInactive && hasSecrets(out.TaskDefinition, container, secrets):
		td = out.TaskDefinition
	case err != nil && !strings.Contains(errorMessage(err), "Unable to describe task definition"):
		return nil, fmt.Errorf("DescribeTaskDefinition %q: %w", family, classify(err))
	default:
		in := deriveWithSecrets(base, family, container, secrets)
		in.Tags = []ecstypes.Tag{
			{Key: aws.String("koyomi:installation"), Value: aws.String(tagValue(e.cfg.Installation))},
			{Key: aws.String("koyomi:derived-from"), Value: aws.String(tagValue(baseARN))},
		}
		if e.cfg.Installation == "" {
			in.Tags = in.Tags[1:]
		}
		reg, err := c.ecs.RegisterTaskDefinition(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("register task definition %q (%s with the job's secrets): %w", family, baseARN, classify(err))
		}
		td = reg.TaskDefinition
		e.cfg.Logger.Info("ecs task definition with secrets registered", "task_definition", aws.ToString(td.TaskDefinitionArn), "from", baseARN, "secrets", sortedKeys(secrets))
	}
	e.mu.Lock()
	e.defs[key] = cachedDef{def: td, at: e.cfg.Now()}
	e.mu.Unlock()
	return td, nil
}

// hasSecrets reports whether container of td carries exactly these
// references among its secrets.
func hasSecrets(td *ecstypes.TaskDefinition, container string, secrets map[string]string) bool {
	for _, cd := range td.ContainerDefinitions {
		if aws.ToString(cd.Name) != container {
			continue
		}
		have := map[string]string{}
		for _, s := range cd.Secrets {
			have[aws.ToString(s.Name)] = aws.ToString(s.ValueFrom)
		}
		for k, v := range secrets {
			if have[k] != v {
				return false
			}
		}
		return true
	}
	return false
}

// deriveWithSecrets is the RegisterTaskDefinition input that copies base
// under family and adds secrets to container.
func deriveWithSecrets(base *ecstypes.TaskDefinition, family, container string, secrets map[string]string) *awsecs.RegisterTaskDefinitionInput {
	defs := make([]ecstypes.ContainerDefinition, len(base.ContainerDefinitions))
	copy(defs, base.ContainerDefinitions)
	for i := range defs {
		if aws.ToString(defs[i].Name) != container {
			continue
		}
		var kept []ecstypes.Secret
		for _, s := range defs[i].Secrets {
			if _, replaced := secrets[aws.ToString(s.Name)]; !replaced {
				kept = append(kept, s)
			}
		}
		for _, k := range sortedKeys(secrets) {
			kept = append(kept, ecstypes.Secret{Name: aws.String(k), ValueFrom: aws.String(secrets[k])})
		}
		defs[i].Secrets = kept
		// A variable is either plain or a secret.
		var env []ecstypes.KeyValuePair
		for _, kv := range defs[i].Environment {
			if _, secret := secrets[aws.ToString(kv.Name)]; !secret {
				env = append(env, kv)
			}
		}
		defs[i].Environment = env
	}
	return &awsecs.RegisterTaskDefinitionInput{
		Family:                        aws.String(family),
		ContainerDefinitions:          defs,
		Cpu:                           base.Cpu,
		Memory:                        base.Memory,
		EnableFaultInjection:          base.EnableFaultInjection,
		EphemeralStorage:              base.EphemeralStorage,
		ExecutionRoleArn:              base.ExecutionRoleArn,
		InferenceAccelerators:         base.InferenceAccelerators,
		IpcMode:                       base.IpcMode,
		NetworkMode:                   base.NetworkMode,
		PidMode:                       base.PidMode,
		PlacementConstraints:          base.PlacementConstraints,
		ProxyConfiguration:            base.ProxyConfiguration,
		RequiresCompatibilities:       base.RequiresCompatibilities,
		RuntimePlatform:               base.RuntimePlatform,
		TaskRoleArn:                   base.TaskRoleArn,
		TrustedExecutionConfiguration: base.TrustedExecutionConfiguration,
		Volumes:                       base.Volumes,
	}
}
