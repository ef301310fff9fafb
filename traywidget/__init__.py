"""traywidget: requests and credits left on your LLM API routers, in the system tray."""

__version__ = "0.1.0"
APP_NAME = "traywidget"
APP_DISPLAY_NAME = "Traywidget"
