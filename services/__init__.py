"""Service folders as one package root for pytest, so each service's tests import as
`services.<name>.tests` and none can shadow a module of the same name (`statistics`)."""
