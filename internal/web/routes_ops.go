package web

// opsRoutes: today, schedules, generations and operator actions.
func (s *Server) opsRoutes() []route {
	return []route{}
}
