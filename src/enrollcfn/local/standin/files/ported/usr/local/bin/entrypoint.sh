#!/bin/bash
# Serves only: the schema is changed by a one-off task of its own (a command given to this
# script is exec'd instead of the server), .env is not written (the task's environment and
# secrets configure the app), and nginx replaces the shell so it gets the task's signals.
set -e

cd /var/www

if [ "$#" -gt 0 ]; then
  exec "$@"
fi

php-fpm -D

exec nginx -e stderr -g 'daemon off;'
