"""Renderers turn page models into HTML, PDF or spreadsheets; they never touch the database."""
