package web

// calendarRoutes: calendars, imports and the schedule preview.
func (s *Server) calendarRoutes() []route {
	return []route{}
}
