<?php

use App\Http\Controllers\HelloWorldController;
use App\Http\Controllers\StudentController;
use Illuminate\Support\Facades\Route;

Route::get('/hello-world', HelloWorldController::class);
Route::get('/students', [StudentController::class, 'count']);
