"""The office's reports: periods, the figures as tables, charts (SVG), the monthly 台账, the quarterly report."""
