"""Logins through identity providers (E-klase, Mykoob; Latvija.lv to come) mapped to VIIS."""
