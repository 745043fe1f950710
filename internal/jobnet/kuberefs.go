package jobnet

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

var (
	// dnsSubdomainRE: names of Secrets, ConfigMaps, claims, service accounts.
	dnsSubdomainRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// configKeyRE: keys of Secrets and ConfigMaps.
	configKeyRE = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	// quantityRE: a Kubernetes quantity such as 512Mi or 1G.
	quantityRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$`)
)

// kubeRefs validates the references of an eks job to Secrets, ConfigMaps,
// claims and service accounts, and its volumes and mounts.
func (v *validator) kubeRefs(p string, s *EKSSpec, env map[string]string) {
	subdomain := func(fp, what, name string) {
		switch {
		case name == "":
			v.ps.Add(fp, "required")
		case len(name) > 253 || !dnsSubdomainRE.MatchString(name):
			v.ps.Add(fp, "invalid %s name %q: want lower-case letters, digits, - and .", what, name)
		}
	}
	if s.ServiceAccount != "" {
		subdomain(p+".service_account", "service account", s.ServiceAccount)
	}
	names := map[string]string{}
	for i, e := range s.Env {
		ep := fmt.Sprintf("%s.env[%d]", p, i)
		switch {
		case e.Name == "":
			v.ps.Add(ep+".name", "required")
		case !envNameRE.MatchString(e.Name):
			v.ps.Add(ep+".name", "invalid variable name %q: want letters, digits and _, not starting with a digit", e.Name)
		case strings.HasPrefix(e.Name, "KOYOMI_"):
			v.ps.Add(ep+".name", "KOYOMI_ variables are set by Koyomi")
		case names[e.Name] != "":
			v.ps.Add(ep+".name", "%q is also set by %s", e.Name, names[e.Name])
		default:
			if _, ok := env[e.Name]; ok {
				v.ps.Add(ep+".name", "%q is also set by the job's env", e.Name)
			}
			names[e.Name] = ep
		}
		switch {
		case e.SecretKeyRef != nil && e.ConfigMapKeyRef != nil:
			v.ps.Add(ep, "set one of secret_key_ref and config_map_key_ref, not both")
		case e.SecretKeyRef != nil:
			subdomain(ep+".secret_key_ref.name", "Secret", e.SecretKeyRef.Name)
			v.configKey(ep+".secret_key_ref.key", e.SecretKeyRef.Key)
		case e.ConfigMapKeyRef != nil:
			subdomain(ep+".config_map_key_ref.name", "ConfigMap", e.ConfigMapKeyRef.Name)
			v.configKey(ep+".config_map_key_ref.key", e.ConfigMapKeyRef.Key)
		default:
			v.ps.Add(ep, "set secret_key_ref or config_map_key_ref (a plain value belongs in the job's env)")
		}
	}
	for i, e := range s.EnvFrom {
		ep := fmt.Sprintf("%s.env_from[%d]", p, i)
		if e.Prefix != "" && !envNameRE.MatchString(e.Prefix) {
			v.ps.Add(ep+".prefix", "invalid prefix %q: want letters, digits and _, not starting with a digit", e.Prefix)
		}
		switch {
		case e.SecretRef != nil && e.ConfigMapRef != nil:
			v.ps.Add(ep, "set one of secret_ref and config_map_ref, not both")
		case e.SecretRef != nil:
			subdomain(ep+".secret_ref.name", "Secret", e.SecretRef.Name)
		case e.ConfigMapRef != nil:
			subdomain(ep+".config_map_ref.name", "ConfigMap", e.ConfigMapRef.Name)
		default:
			v.ps.Add(ep, "set secret_ref or config_map_ref")
		}
	}
	vols := map[string]bool{}
	for i, vol := range s.Volumes {
		vp := fmt.Sprintf("%s.volumes[%d]", p, i)
		switch {
		case vol.Name == "":
			v.ps.Add(vp+".name", "required")
		case !dnsLabelRE.MatchString(vol.Name):
			v.ps.Add(vp+".name", "invalid volume name %q: want a DNS label (a-z 0-9 -)", vol.Name)
		case vols[vol.Name]:
			v.ps.Add(vp+".name", "duplicate volume %q", vol.Name)
		}
		vols[vol.Name] = true
		n := 0
		if sv := vol.Secret; sv != nil {
			n++
			subdomain(vp+".secret.secret_name", "Secret", sv.SecretName)
			v.keyPaths(vp+".secret.items", sv.Items)
			v.fileMode(vp+".secret.default_mode", sv.DefaultMode)
		}
		if cv := vol.ConfigMap; cv != nil {
			n++
			subdomain(vp+".config_map.name", "ConfigMap", cv.Name)
			v.keyPaths(vp+".config_map.items", cv.Items)
			v.fileMode(vp+".config_map.default_mode", cv.DefaultMode)
		}
		if pv := vol.PersistentVolumeClaim; pv != nil {
			n++
			subdomain(vp+".persistent_volume_claim.claim_name", "PersistentVolumeClaim", pv.ClaimName)
		}
		if ev := vol.EmptyDir; ev != nil {
			n++
			if ev.Medium != "" && ev.Medium != "Memory" {
				v.ps.Add(vp+".empty_dir.medium", "%q: must be empty (the node's disk) or Memory", ev.Medium)
			}
			if ev.SizeLimit != "" && !quantityRE.MatchString(ev.SizeLimit) {
				v.ps.Add(vp+".empty_dir.size_limit", "%q is not a quantity such as 1Gi", ev.SizeLimit)
			}
		}
		if n != 1 {
			v.ps.Add(vp, "set exactly one of secret, config_map, persistent_volume_claim and empty_dir (found %d)", n)
		}
	}
	paths := map[string]bool{}
	for i, m := range s.VolumeMounts {
		mp := fmt.Sprintf("%s.volume_mounts[%d]", p, i)
		switch {
		case m.Name == "":
			v.ps.Add(mp+".name", "required")
		case !vols[m.Name]:
			v.ps.Add(mp+".name", "unknown volume %q", m.Name)
		}
		switch {
		case m.MountPath == "":
			v.ps.Add(mp+".mount_path", "required")
		case !strings.HasPrefix(m.MountPath, "/") || strings.Contains(m.MountPath, ":"):
			v.ps.Add(mp+".mount_path", "%q: want an absolute path without ':'", m.MountPath)
		case paths[path.Clean(m.MountPath)]:
			v.ps.Add(mp+".mount_path", "%q is mounted twice", m.MountPath)
		}
		paths[path.Clean(m.MountPath)] = true
		if m.SubPath != "" && !relativePath(m.SubPath) {
			v.ps.Add(mp+".sub_path", "%q: want a relative path without ..", m.SubPath)
		}
	}
	seen := map[string]bool{}
	for i, name := range s.ImagePullSecrets {
		ip := fmt.Sprintf("%s.image_pull_secrets[%d]", p, i)
		subdomain(ip, "Secret", name)
		if seen[name] {
			v.ps.Add(ip, "duplicate Secret %q", name)
		}
		seen[name] = true
	}
}

func (v *validator) configKey(p, key string) {
	switch {
	case key == "":
		v.ps.Add(p, "required")
	case len(key) > 253 || !configKeyRE.MatchString(key):
		v.ps.Add(p, "invalid key %q: want letters, digits, -, _ and .", key)
	}
}

func (v *validator) keyPaths(p string, items []KubeKeyToPath) {
	for i, it := range items {
		ip := fmt.Sprintf("%s[%d]", p, i)
		v.configKey(ip+".key", it.Key)
		if it.Path == "" {
			v.ps.Add(ip+".path", "required")
		} else if !relativePath(it.Path) {
			v.ps.Add(ip+".path", "%q: want a relative path without ..", it.Path)
		}
	}
}

func (v *validator) fileMode(p string, mode *int32) {
	if mode != nil && (*mode < 0 || *mode > 0o777) {
		v.ps.Add(p, "%d: must be 0 to 511 (0777)", *mode)
	}
}

// relativePath reports whether p is a relative path that stays inside its
// root (no element is "..").
func relativePath(p string) bool {
	if strings.HasPrefix(p, "/") {
		return false
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return false
		}
	}
	return true
}
