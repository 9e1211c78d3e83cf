<?php

namespace App\Http\Controllers;

use Illuminate\Http\Request;
use Illuminate\Support\Facades\Log;

class WelcomeController extends Controller
{
    public function __invoke(Request $request)
    {
        // The session (a file under storage/framework/sessions) counts this browser's visits.
        $visits = $request->session()->get('visits', 0) + 1;
        $request->session()->put('visits', $visits);

        Log::info('welcome rendered', ['visits' => $visits]);

        return view('welcome', ['visits' => $visits]);
    }
}
