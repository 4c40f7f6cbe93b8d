"""Everything served over HTTP besides the app's composition: the WeChat callback, the chat simulator page,
sign-in and sessions (`auth`), the staff console (`console/`), the admin console (`admin/`), the shared page
rendering (`pages`, `templates/`, `static/`) and the handlers' dependencies (`deps`).
"""
