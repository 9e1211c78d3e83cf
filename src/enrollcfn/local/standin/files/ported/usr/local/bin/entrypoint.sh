#!/bin/bash
# Serves only: migrations run as their own one-off task (`enrollcfn run -- php artisan migrate
# --force`, whose command this script execs), .env is not written (the task's environment and
# secrets configure the app), and nginx replaces the shell so it gets the task's signals.
set -e

cd /var/www

if [ "$#" -gt 0 ]; then
  exec "$@"
fi

php-fpm -D

exec nginx -e stderr -g 'daemon off;'
