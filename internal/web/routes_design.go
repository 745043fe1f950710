package web

// designRoutes: jobnets, folders, the editor and versions.
func (s *Server) designRoutes() []route {
	return []route{}
}
