package dashboard

import (
	"fmt"
	"math"
	"strings"

	"github.com/shade-analytics/shade/storage"
)

// chart is a time series drawn as SVG on the server: the page needs no
// script to show it.
type chart struct {
	Metric, Label string
	Line, Area    string // SVG points and path
	Points        []chartPoint
	Max           string
	First, Last   string
}

type chartPoint struct {
	X, Y  float64
	Title string
}

const chartW, chartH = 800.0, 200.0

func buildChart(points []storage.Point, metric, label string) chart {
	c := chart{Metric: metric, Label: label}
	if len(points) == 0 {
		return c
	}
	top := 0.0
	for i := range points {
		top = math.Max(top, toFloat(metricValue(&points[i].Metrics, metric)))
	}
	if top == 0 {
		top = 1
	}
	var line strings.Builder
	step := chartW / math.Max(1, float64(len(points)-1))
	for i := range points {
		v := toFloat(metricValue(&points[i].Metrics, metric))
		x := math.Round(float64(i)*step*10) / 10
		y := math.Round((chartH-v/top*(chartH-10))*10) / 10
		fmt.Fprintf(&line, "%g,%g ", x, y)
		c.Points = append(c.Points, chartPoint{X: x, Y: y, Title: points[i].Date + ": " + formatMetric(metric, metricValue(&points[i].Metrics, metric))})
	}
	c.Line = strings.TrimSpace(line.String())
	c.Area = fmt.Sprintf("M0,%g L%s L%g,%g Z", chartH, strings.ReplaceAll(c.Line, " ", " L"), c.Points[len(c.Points)-1].X, chartH)
	c.Max = formatMetric(metric, top)
	c.First, c.Last = points[0].Date, points[len(points)-1].Date
	return c
}
