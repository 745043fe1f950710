package store

import "context"

// StoredSecretValues returns the stored (sealed or plain) secret columns
// of connections and alert channels, as the database holds them.
func (s *Store) StoredSecretValues(ctx context.Context) ([]string, error) {
	all, err := s.storedSecrets(s.db.WithContext(ctx), false)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(all))
	for _, x := range all {
		out = append(out, x.value)
	}
	return out, nil
}
