"""Icons and desktop files, shipped as package data (read them through traywidget.desktop.assets)."""
