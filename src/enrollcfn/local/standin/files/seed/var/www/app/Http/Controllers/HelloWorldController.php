<?php

namespace App\Http\Controllers;

class HelloWorldController extends Controller
{
    public function __invoke()
    {
        return response()->json(['message' => 'Hello World']);
    }
}
