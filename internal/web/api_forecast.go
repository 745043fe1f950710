package web

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/deadline"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

// Forecaster forecasts a business date (package deadline).
type Forecaster interface {
	Day(ctx context.Context, date calendar.Date) (deadline.Report, error)
	Durations(ctx context.Context, jobnet string) ([]deadline.UnitHistory, error)
	HistoryDays() int
}

// forecast returns the forecast of a business date; ok is false when the
// server has no forecaster.
func (s *Server) forecast(ctx context.Context, date calendar.Date) (deadline.Report, bool, error) {
	if s.p.Forecast == nil {
		return deadline.Report{}, false, nil
	}
	r, err := s.p.Forecast.Day(ctx, date)
	return r, err == nil, err
}

// apiForecast: GET /api/v1/forecast?date=D — predicted ends, deadlines and
// critical paths of a business date's generations (default: today).
func (s *Server) apiForecast(c echo.Context) error {
	d, err := queryDate(c, "date")
	if err != nil {
		return err
	}
	date := calendar.DateOf(s.p.Now())
	if d != nil {
		date = *d
	}
	r, ok, err := s.forecast(c.Request().Context(), date)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("forecast: not available on this server: %w", fault.ErrNotFound)
	}
	if r.Generations == nil {
		r.Generations = []deadline.Generation{}
	}
	return c.JSON(http.StatusOK, r)
}
