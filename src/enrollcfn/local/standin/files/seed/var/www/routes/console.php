<?php

use Illuminate\Support\Facades\Artisan;

Artisan::command('students:count', function () {
    $this->info(\Illuminate\Support\Facades\DB::table('students')->count());
})->purpose('Print the number of students');
