module atlaas

go 1.26
