package web

// adminRoutes: users, connections, audit log.
func (s *Server) adminRoutes() []route {
	return []route{}
}
